// A real OpenID Connect provider on loopback for the single sign-on tests: oidc-provider (a
// certified implementation) with three test people and a sign-in form of our own (no inline
// script or style). Started by tests/sso.py, which reads the first line it prints:
//   {"issuer": "http://127.0.0.1:<port>"}
// Settings come from the environment: OIDC_CLIENT_ID, OIDC_CLIENT_SECRET, OIDC_REDIRECT_URI.
import http from "node:http";
import Provider from "oidc-provider";

const PASSWORD = "provider-test-password";

// Test people, by login. `bob` has an address the provider has not verified.
const PEOPLE = {
  alice: {
    email: "alice@example.com",
    email_verified: true,
    given_name: "Alice",
    family_name: "Archer",
    groups: ["security-reviewers", "everyone"],
  },
  bob: {
    email: "bob@example.com",
    email_verified: false,
    given_name: "Bob",
    family_name: "Baker",
    groups: ["everyone"],
  },
  carol: {
    email: "carol@example.com",
    email_verified: true,
    given_name: "Carol",
    family_name: "Chen",
    groups: ["platform-engineers"],
  },
};

function page(title, body) {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${title}</title></head>
<body><main><h1>${title}</h1>${body}</main></body></html>`;
}

function loginForm(uid, error) {
  return page(
    "Test identity provider",
    `${error ? `<p role="alert">${error}</p>` : ""}
<form method="post" action="/interaction/${uid}/login">
  <label for="login">Login</label> <input id="login" name="login" required autofocus>
  <label for="password">Password</label> <input id="password" name="password" type="password" required>
  <button type="submit">Sign in to the provider</button>
</form>`,
  );
}

async function readForm(req) {
  const chunks = [];
  for await (const chunk of req) chunks.push(chunk);
  return new URLSearchParams(Buffer.concat(chunks).toString("utf8"));
}

let provider;

async function interaction(req, res, uid, action) {
  const details = await provider.interactionDetails(req, res);
  if (details.uid !== uid) throw new Error("interaction mismatch");
  if (req.method === "GET" && !action) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(loginForm(uid, ""));
    return;
  }
  const form = await readForm(req);
  const login = form.get("login") || "";
  if (!(login in PEOPLE) || form.get("password") !== PASSWORD) {
    res.writeHead(200, { "content-type": "text/html; charset=utf-8" });
    res.end(loginForm(uid, "Unknown login or wrong password."));
    return;
  }
  // Consent is given with the sign-in: the client is the organisation's own application.
  const grant = new provider.Grant({ accountId: login, clientId: details.params.client_id });
  grant.addOIDCScope(details.params.scope);
  const grantId = await grant.save();
  await provider.interactionFinished(
    req,
    res,
    { login: { accountId: login }, consent: { grantId } },
    { mergeWithLastSubmission: false },
  );
}

const server = http.createServer((req, res) => {
  const match = /^\/interaction\/([^/]+)(?:\/(login))?$/.exec(req.url.split("?")[0]);
  if (match) {
    interaction(req, res, match[1], match[2]).catch((error) => {
      res.writeHead(400, { "content-type": "text/plain" });
      res.end(String(error));
    });
    return;
  }
  provider.callback()(req, res);
});

server.listen(0, "127.0.0.1", () => {
  const issuer = `http://127.0.0.1:${server.address().port}`;
  provider = new Provider(issuer, {
    clients: [
      {
        client_id: process.env.OIDC_CLIENT_ID,
        client_secret: process.env.OIDC_CLIENT_SECRET,
        redirect_uris: [process.env.OIDC_REDIRECT_URI],
        grant_types: ["authorization_code"],
        response_types: ["code"],
      },
    ],
    // The code flow only with PKCE, as a public deployment would require.
    pkce: { required: () => true },
    scopes: ["openid", "profile", "email", "groups"],
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "given_name", "family_name"],
      groups: ["groups"],
    },
    features: { devInteractions: { enabled: false } },
    interactions: { url: (ctx, interaction) => `/interaction/${interaction.uid}` },
    cookies: { keys: ["test-provider-cookie-key"] },
    async findAccount(ctx, id) {
      const person = PEOPLE[id];
      if (!person) return undefined;
      return {
        accountId: id,
        async claims() {
          return { sub: id, name: `${person.given_name} ${person.family_name}`, ...person };
        },
      };
    },
  });
  provider.on("server_error", (ctx, error) => console.error(error));
  console.log(JSON.stringify({ issuer }));
});
