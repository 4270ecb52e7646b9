// The Express side of tests/test_express_interop.py: express-session with
// connect-redis on the test's redis-server, the same routes as the Python apps.
//
// Environment: PORT, REDIS_URL, SECRETS (JSON array, first signs), COOKIE_NAME,
// MAX_AGE_MS (optional cookie maxAge). Prints "listening <port>" when ready.
import express from "express";
import session from "express-session";
import { RedisStore } from "connect-redis";
import { createClient } from "redis";

const port = Number(process.env.PORT);
const secrets = JSON.parse(process.env.SECRETS);
const maxAge = process.env.MAX_AGE_MS ? Number(process.env.MAX_AGE_MS) : undefined;

const client = createClient({ url: process.env.REDIS_URL });
client.on("error", (err) => console.error("redis:", err.message));
await client.connect();

const app = express();
app.use(
  session({
    store: new RedisStore({ client }),
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

const stop = () => server.close(() => client.quit().finally(() => process.exit(0)));
process.on("SIGTERM", stop);
process.on("SIGINT", stop);
