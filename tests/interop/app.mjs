// The Express side of tests/test_express_interop.py, test_framework_interop.py and
// test_postgres_interop.py:
// express-session with connect-redis (REDIS_URL) or connect-pg-simple (PG_URL) on the
// test's server, the same routes as the Python apps.
//
// Environment: PORT, REDIS_URL or PG_URL, SECRETS (JSON array, first signs),
// COOKIE_NAME, MAX_AGE_MS (optional cookie maxAge); with PG_URL, PG_SCHEMA (optional
// schemaName) and PG_CREATE_TABLE=1 (createTableIfMissing). Prints "listening <port>"
// when ready.
import express from "express";
import session from "express-session";

const port = Number(process.env.PORT);
const secrets = JSON.parse(process.env.SECRETS);
const maxAge = process.env.MAX_AGE_MS ? Number(process.env.MAX_AGE_MS) : undefined;

async function redisStore() {
  const { RedisStore } = await import("connect-redis");
  const { createClient } = await import("redis");
  const client = createClient({ url: process.env.REDIS_URL });
  client.on("error", (err) => console.error("redis:", err.message));
  await client.connect();
  return { store: new RedisStore({ client }), close: () => client.quit() };
}

async function pgStore() {
  const { default: connectPgSimple } = await import("connect-pg-simple");
  const PGStore = connectPgSimple(session);
  const store = new PGStore({
    conString: process.env.PG_URL,
    schemaName: process.env.PG_SCHEMA || undefined,
    createTableIfMissing: process.env.PG_CREATE_TABLE === "1",
    errorLog: (...args) => console.error("pg:", ...args),
  });
  return { store, close: () => store.close() };
}

const backend = process.env.PG_URL ? await pgStore() : await redisStore();

const app = express();
app.use(
  session({
    store: backend.store,
    secret: secrets,
    name: process.env.COOKIE_NAME || "connect.sid",
    resave: false,
    saveUninitialized: false,
    cookie: maxAge === undefined ? {} : { maxAge },
  }),
);

const view = (req) => ({
  side: "express",
  sid: req.sessionID,
  views: req.session.views ?? null,
  user: req.session.user ?? null,
});

app.get("/whoami", (req, res) => res.json(view(req)));

app.post("/views", (req, res) => {
  req.session.views = (req.session.views ?? 0) + 1;
  res.json(view(req));
});

app.post("/login", (req, res) => {
  req.session.user = req.query.user;
  res.json(view(req));
});

app.post("/logout", (req, res, next) => {
  req.session.destroy((err) => (err ? next(err) : res.json({ side: "express", sid: null })));
});

app.use((err, req, res, next) => {
  res.status(500).json({ error: String(err && err.message) });
});

const server = app.listen(port, "127.0.0.1", () => console.log(`listening ${port}`));

const stop = () => server.close(() => backend.close().finally(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
