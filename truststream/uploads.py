"""Uploads refused before they are stored.

Django's upload handlers write each file to memory or to a temporary file as it streams in, and
a form learns the file's size only afterwards: by then a 1 GB body has been written somewhere.
A view decorated with `upload_limit` puts `LimitedUploadHandler` in front of Django's handlers.
It counts each file's bytes as they arrive and skips the file the moment it passes the limit:
Django then closes (and so deletes) what the other handlers had stored of it and reads the rest
of that file into nothing. The file's field then holds a `RefusedUpload`, which
`LimitedFileField` reports as an error on the field.
"""

from dataclasses import dataclass
from functools import wraps

from django import forms
from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files.uploadhandler import FileUploadHandler, SkipFile
from django.views.decorators.csrf import csrf_exempt, csrf_protect


def size_text(size: int) -> str:
    """`size` bytes as people read it: 25 MB, 512 KB, 100 bytes."""
    for unit, name in ((1024 * 1024, "MB"), (1024, "KB")):
        if size >= unit:
            return f"{size / unit:.3g} {name}"
    return f"{size} bytes"


def _limit(limit: int | str) -> int:
    return getattr(settings, limit) if isinstance(limit, str) else limit


@dataclass(frozen=True)
class RefusedUpload:
    """What request.FILES holds for a file refused past `limit` bytes: its name, no content."""

    name: str
    limit: int


class LimitedUploadHandler(FileUploadHandler):
    """Passes each file on to the next handlers only while it stays within `limit` bytes."""

    def __init__(self, request, *, limit: int):
        super().__init__(request)
        self.limit = limit
        self.refused: dict[str, str] = {}  # field name: file name
        self.passed = 0  # bytes handed on to the handlers that store files, all files together
        self._received = 0
        self._hopeless = False

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        # A body larger than the limit plus what Django accepts for the other fields cannot hold
        # an acceptable file: its files are refused before a byte of them is stored.
        fields = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        self._hopeless = fields is not None and content_length > self.limit + fields
        return None

    def new_file(self, field_name, file_name, *args, **kwargs):
        super().new_file(field_name, file_name, *args, **kwargs)
        self._received = 0
        if self._hopeless:
            self._refuse()

    def receive_data_chunk(self, raw_data, start):
        self._received += len(raw_data)
        if self._received > self.limit:
            self._refuse()
        self.passed += len(raw_data)
        return raw_data

    def file_complete(self, file_size):
        return None  # the next handler stores the file

    def _refuse(self):
        self.refused[self.field_name] = self.file_name
        raise SkipFile


def upload_limit(limit: int | str):
    """Decorate a view that takes file uploads: each file may have at most `limit` bytes (an
    int, or the name of the setting that holds it, read at each request).

    Put it outermost, above `login_required` or `plan_view`: the handler must be in place
    before anything reads the body. The CSRF middleware reads request.POST before the view
    runs, so the view is exempt from the middleware's check and makes the same check itself,
    once the handler is in place (as Django's documentation on upload handlers describes).
    """

    def decorator(view):
        def with_refusals(request, *args, **kwargs):
            handler = request.upload_handlers[0]
            for field, name in handler.refused.items():
                request.FILES.setlist(field, [RefusedUpload(name, handler.limit)])
            return view(request, *args, **kwargs)

        protected = csrf_protect(with_refusals)

        @wraps(view)
        @csrf_exempt
        def wrapper(request, *args, **kwargs):
            handler = LimitedUploadHandler(request, limit=_limit(limit))
            # Assigning (rather than inserting) makes Django refuse loudly if the body was
            # already read, instead of silently reading it without the limit.
            request.upload_handlers = [handler, *request.upload_handlers]
            return protected(request, *args, **kwargs)

        return wrapper

    return decorator


class LimitedFileField(forms.FileField):
    """A file field for views under `upload_limit`: a refused file is an error on the field,
    and so is any other upload over `max_bytes` (an int, or the name of a setting)."""

    def __init__(self, *, max_bytes: int | str, too_large: str = "", **kwargs):
        super().__init__(**kwargs)
        self.max_bytes = max_bytes
        self.too_large = too_large or "The file is larger than %(limit)s."

    def to_python(self, data):
        if isinstance(data, RefusedUpload):
            limit = data.limit
        else:
            data = super().to_python(data)
            limit = _limit(self.max_bytes)
            if data is None or data.size <= limit:
                return data
        raise ValidationError(self.too_large, code="too_large", params={"limit": size_text(limit)})
