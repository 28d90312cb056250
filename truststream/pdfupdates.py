"""What may follow a packet's signature: PAdES long-term validation data and document
timestamps, and nothing else.

A B-LT or B-LTA packet is signed, then updated: pyHanko appends the document security store
(certificates, OCSP responses, CRLs and their VRI entries) and a document timestamp, each as an
incremental update the signature does not cover. A checker must tell those updates from one that
changes what was signed. pyHanko's standard difference analysis does so by first mapping every
path from the catalogue to every object of the signed revision; on a tagged packet that walk
reads each of the thousands of structure elements, and pyHanko reads each one out of the
rendering's object stream by parsing the stream's index again, which took about 30 s for a
guide-sized packet. `ArchivalUpdatesOnly` reads only what an update writes, and the previous
versions of the objects it rewrites: a few objects whatever the size of the document.

The rule, applied to each update after the signed revision in turn, against the revision
before it. Every object the update writes must be one of:

- its own cross-reference stream or object stream;
- the catalogue, with nothing changed but its /DSS and /AcroForm entries;
- the XMP metadata stream, with nothing changed but its modification and metadata dates
  (pyHanko rewrites them in every update);
- the document security store, holding only certificates, OCSP responses, CRLs and VRI
  entries, and new objects it alone reaches;
- the AcroForm, whose fields stay as they were, in their order, with new fields appended;
  each new field an invisible signature field (a widget of zero area) whose value is a new
  document timestamp (/DocTimeStamp), with the new objects it reaches;
- a page whose only change is those new widgets appended to its /Annots;
- an object rewritten with exactly its previous content.

Nothing may be freed, no object number reused, and the trailer keeps its /Root, /Info and
/Encrypt. Anything else (a page's content stream, the structure tree, the attached snapshot,
another annotation or field, an object nothing refers to) makes the update "not an archival
update", and the signature does not cover the file.

Pure pyHanko, no Django: used by the verify page's checking process (`signoffs.pdfcheck`)
and by the offline verifier (`truststream.verify_packet`).
"""

import re

from pyhanko.pdf_utils import generic, misc
from pyhanko.pdf_utils.reader import HistoricalResolver, PdfFileReader
from pyhanko.sign.diff_analysis import (
    DiffPolicy,
    DiffResult,
    ModificationLevel,
    SuspiciousModification,
)

# The catalogue entries an archival update may add or change.
CATALOG_ENTRIES = {"/DSS", "/AcroForm"}
DSS_ENTRIES = {"/Type", "/Certs", "/OCSPs", "/CRLs", "/VRI"}
ACROFORM_ENTRIES = {"/Fields", "/SigFlags"}
# What a document timestamp's field may hold: no actions (/A, /AA), no kids.
FIELD_ENTRIES = {"/FT", "/T", "/TU", "/Type", "/Subtype", "/F", "/Rect", "/P", "/V", "/AP", "/MK"}
# XMP properties pyHanko sets anew in every update, as attributes or as elements.
_XMP_DATES = re.compile(
    rb'(xmp:(?:ModifyDate|MetadataDate))="[^"]*"'
    rb"|<(xmp:(?:ModifyDate|MetadataDate))>[^<]*</xmp:(?:ModifyDate|MetadataDate)>"
)


class ArchivalUpdatesOnly(DiffPolicy):
    """A pyHanko difference policy that accepts the updates above, at
    `ModificationLevel.LTA_UPDATES`, and rejects any other."""

    def apply(self, old, new, field_mdp_spec=None, doc_mdp=None) -> DiffResult:
        reader = new.reader
        for revision in range(old.revision + 1, new.revision + 1):
            _Update(
                reader.get_historical_resolver(revision - 1),
                reader.get_historical_resolver(revision),
            ).check()
        return DiffResult(ModificationLevel.LTA_UPDATES, set())

    def review_file(self, reader: PdfFileReader, base_revision, field_mdp_spec=None, doc_mdp=None):
        base = (
            base_revision
            if isinstance(base_revision, HistoricalResolver)
            else reader.get_historical_resolver(base_revision)
        )
        last = reader.get_historical_resolver(reader.xrefs.total_revisions - 1)
        try:
            return self.apply(base, last)
        except SuspiciousModification as error:
            return error
        except (misc.PdfError, KeyError, TypeError, ValueError, AttributeError) as error:
            # A file shaped unlike anything pyHanko writes: not an archival update.
            return SuspiciousModification(f"An update after the signature is malformed: {error}")


POLICY = ArchivalUpdatesOnly()


def same(old: generic.PdfObject, new: generic.PdfObject) -> bool:
    """Whether two objects are equal as written: references are compared, not followed."""
    if isinstance(old, generic.IndirectObject) or isinstance(new, generic.IndirectObject):
        return (
            isinstance(old, generic.IndirectObject)
            and isinstance(new, generic.IndirectObject)
            and old.reference == new.reference
        )
    if isinstance(old, generic.StreamObject) or isinstance(new, generic.StreamObject):
        return (
            isinstance(old, generic.StreamObject)
            and isinstance(new, generic.StreamObject)
            and old.encoded_data == new.encoded_data
            and _same_entries(old, new)
        )
    if isinstance(old, generic.DictionaryObject):
        return isinstance(new, generic.DictionaryObject) and _same_entries(old, new)
    if isinstance(old, generic.ArrayObject):
        return (
            isinstance(new, generic.ArrayObject)
            and len(old) == len(new)
            and all(same(a, b) for a, b in zip(_items(old), _items(new), strict=True))
        )
    strings = (generic.TextStringObject, generic.ByteStringObject)
    if isinstance(old, strings):
        return isinstance(new, strings) and old.original_bytes == new.original_bytes
    return type(old) is type(new) and old == new


def _same_entries(old, new, *, except_for=frozenset()) -> bool:
    keys = (set(old) | set(new)) - except_for
    return all(key in old and key in new and same(_raw(old, key), _raw(new, key)) for key in keys)


def _items(array) -> list:
    """The array's entries as written (a reference is not followed)."""
    return list(list.__iter__(array))


def _raw(dictionary, key):
    """The entry as written (a reference is not followed), or None."""
    return dict.get(dictionary, key)


def _refused(message: str):
    raise SuspiciousModification(message)


class _Update:
    """One incremental update (`new`) against the revision before it (`old`)."""

    def __init__(self, old: HistoricalResolver, new: HistoricalResolver):
        self.old, self.new = old, new
        xrefs = new.reader.xrefs
        self.written = set(new.explicit_refs_in_revision())
        self.explained: set[generic.Reference] = set()
        self.fields: list[generic.Reference] = []  # the signature fields this update adds
        self._xrefs = xrefs
        self._old_size = xrefs.get_xref_container_info(old.revision).size
        self._own_streams = (self.written & xrefs.xref_stream_refs) | set(new.object_streams_used())

    def is_new(self, ref: generic.Reference) -> bool:
        return ref.idnum >= self._old_size

    def check(self) -> None:
        if self.new.refs_freed_in_revision():
            _refused(f"Revision {self.new.revision} frees objects.")
        if self._xrefs.get_xref_data(self.new.revision).hybrid is not None:
            _refused(f"Revision {self.new.revision} has a hybrid cross-reference section.")
        for ref in self.written:
            if ref.generation != 0:
                _refused(
                    f"Revision {self.new.revision} writes object {ref.idnum} {ref.generation}."
                )
            if (
                not self.is_new(ref)
                and self._xrefs.get_historical_ref(ref, self.old.revision) is None
            ):
                _refused(f"Revision {self.new.revision} reuses the free object number {ref.idnum}.")
        for key in ("/Root", "/Info", "/Encrypt"):
            if not same(_raw(self.old.trailer_view, key), _raw(self.new.trailer_view, key)):
                _refused(f"Revision {self.new.revision} changes the trailer's {key}.")
        self.explained |= {ref for ref in self._own_streams if self.is_new(ref)}
        self._catalog()
        self._metadata()
        self._dss()
        self._acroform()
        self._pages()
        self._unchanged()
        left = sorted(self.written - self.explained, key=lambda ref: ref.idnum)
        if left:
            shown = ", ".join(self._describe(ref) for ref in left[:5])
            more = f" and {len(left) - 5} more" if len(left) > 5 else ""
            _refused(
                f"Revision {self.new.revision} writes what no archival update does: {shown}{more}."
            )

    def _describe(self, ref: generic.Reference) -> str:
        found = self.new(ref)
        kind = _raw(found, "/Type") if isinstance(found, generic.DictionaryObject) else None
        if kind is None and isinstance(found, generic.StreamObject):
            kind = "a stream"
        what = "new" if self.is_new(ref) else "changed"
        return f"{what} object {ref.idnum}" + (f" ({str(kind).lstrip('/')})" if kind else "")

    # What may change

    def _catalog(self) -> None:
        old_root, new_root = self.old.root, self.new.root
        if not _same_entries(old_root, new_root, except_for=CATALOG_ENTRIES):
            changed = sorted(
                key
                for key in (set(old_root) | set(new_root)) - CATALOG_ENTRIES
                if not same(_raw(old_root, key), _raw(new_root, key))
            )
            _refused(f"Revision {self.new.revision} changes the catalogue's {', '.join(changed)}.")
        self.explained.add(self.new.root_ref)

    def _metadata(self) -> None:
        found = _raw(self.new.root, "/Metadata")
        if not isinstance(found, generic.IndirectObject) or found.reference not in self.written:
            return
        ref = found.reference
        old, new = self.old(ref), self.new(ref)
        if not (
            isinstance(old, generic.StreamObject)
            and isinstance(new, generic.StreamObject)
            and _same_entries(old, new, except_for={"/Length", "/Filter", "/DecodeParms"})
            and _XMP_DATES.sub(rb"\1\2", old.data) == _XMP_DATES.sub(rb"\1\2", new.data)
        ):
            _refused(f"Revision {self.new.revision} changes the document's XMP metadata.")
        self.explained.add(ref)

    def _entry_object(self, key: str):
        """The catalogue's entry `key` in the new revision, resolved, with its reference if it
        has one; a reference that existed before must be the one the entry had before."""
        value = _raw(self.new.root, key)
        if value is None:
            return None, None
        if not isinstance(value, generic.IndirectObject):
            return None, value
        ref = value.reference
        if not self.is_new(ref) and not same(_raw(self.old.root, key), value):
            _refused(
                f"Revision {self.new.revision} points the catalogue's {key} at another object."
            )
        return ref, self.new(ref)

    def _dss(self) -> None:
        ref, dss = self._entry_object("/DSS")
        if dss is None:
            if _raw(self.old.root, "/DSS") is not None:
                _refused(f"Revision {self.new.revision} removes the document security store.")
            return
        if not isinstance(dss, generic.DictionaryObject) or set(dss) - DSS_ENTRIES:
            _refused(
                f"Revision {self.new.revision} writes a document security store with more in it."
            )
        if ref is not None and ref in self.written:
            self.explained.add(ref)
        self._reach(dss)

    def _acroform(self) -> None:
        before, after = _raw(self.old.root, "/AcroForm"), _raw(self.new.root, "/AcroForm")
        if after is None:
            if before is not None:
                _refused(f"Revision {self.new.revision} removes the form.")
            return
        ref, form = self._entry_object("/AcroForm")
        if ref is not None and ref not in self.written and same(before, after):
            return
        old_form = before.get_object() if before is not None else generic.DictionaryObject()
        if not (
            isinstance(form, generic.DictionaryObject)
            and _same_entries(old_form, form, except_for=ACROFORM_ENTRIES)
        ):
            _refused(f"Revision {self.new.revision} changes the form's settings.")
        old_fields = _items(_raw(old_form, "/Fields") or generic.ArrayObject())
        fields = _raw(form, "/Fields")
        if not isinstance(fields, generic.ArrayObject):
            _refused(f"Revision {self.new.revision} writes a form without its list of fields.")
        fields = _items(fields)
        if len(fields) < len(old_fields) or not all(
            same(a, b) for a, b in zip(old_fields, fields, strict=False)
        ):
            _refused(f"Revision {self.new.revision} changes or removes the form's fields.")
        for added in fields[len(old_fields) :]:
            self._timestamp_field(added)
        if ref is not None:
            self.explained.add(ref)

    def _timestamp_field(self, added) -> None:
        revision = self.new.revision
        if not (
            isinstance(added, generic.IndirectObject)
            and self.is_new(added.reference)
            and added.reference in self.written
        ):
            _refused(f"Revision {revision} adds a form field that is not a new object.")
        field = added.get_object()
        value = _raw(field, "/V")
        rect = [float(n) for n in field.get("/Rect", [1, 1, 2, 2])]
        if not (
            isinstance(field, generic.DictionaryObject)
            and not set(field) - FIELD_ENTRIES
            and _raw(field, "/FT") == "/Sig"
            and _raw(field, "/Subtype") == "/Widget"
            and "/Kids" not in field
            and len(rect) == 4
            and (rect[2] - rect[0]) * (rect[3] - rect[1]) == 0
            and isinstance(value, generic.IndirectObject)
            and self.is_new(value.reference)
            and value.get_object().get("/Type") == "/DocTimeStamp"
        ):
            _refused(
                f"Revision {revision} adds a form field other than an invisible document timestamp."
            )
        self.fields.append(added.reference)
        self.explained.add(added.reference)
        self._reach(field)

    def _pages(self) -> None:
        """A page may get the new timestamp fields' widgets appended to its annotations."""
        for ref in self.written - self.explained:
            if self.is_new(ref):
                continue
            old, new = self.old(ref), self.new(ref)
            if not (
                isinstance(old, generic.DictionaryObject)
                and not isinstance(old, generic.StreamObject)
                and _raw(old, "/Type") == "/Page"
                and isinstance(new, generic.DictionaryObject)
                and _same_entries(old, new, except_for={"/Annots"})
            ):
                continue
            before = _raw(old, "/Annots") or generic.ArrayObject()
            after = _raw(new, "/Annots")
            if not (
                isinstance(before, generic.ArrayObject) and isinstance(after, generic.ArrayObject)
            ):
                continue
            before, after = _items(before), _items(after)
            appended = after[len(before) :]
            if (
                len(after) >= len(before)
                and all(same(a, b) for a, b in zip(before, after, strict=False))
                and all(
                    isinstance(a, generic.IndirectObject) and a.reference in self.fields
                    for a in appended
                )
            ):
                self.explained.add(ref)

    def _unchanged(self) -> None:
        for ref in self.written - self.explained:
            if not self.is_new(ref) and same(self.old(ref), self.new(ref)):
                self.explained.add(ref)

    def _reach(self, start: generic.PdfObject) -> None:
        """Count as explained the new objects written here that `start` reaches through new
        objects only: an old object is never explained by being pointed at."""
        pending = [start]
        while pending:
            found = pending.pop()
            if isinstance(found, generic.IndirectObject):
                ref = found.reference
                if ref in self.explained or not self.is_new(ref) or ref not in self.written:
                    continue
                self.explained.add(ref)
                found = self.new(ref)
            if isinstance(found, generic.DictionaryObject):
                pending.extend(dict.values(found))
            elif isinstance(found, generic.ArrayObject):
                pending.extend(list.__iter__(found))
