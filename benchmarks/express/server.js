// Express bare or with express-session (its MemoryStore), for benchmarks/http_load.py.
// The same routes as benchmarks/apps.py: /read reads views, /write increments it, and
// /login/:user starts a session holding user and views = 1.
'use strict';

const express = require('express');
const session = require('express-session');

const variant = process.env.VARIANT || 'bare';
const port = Number(process.env.PORT);
if (!Number.isInteger(port) || port <= 0) throw new Error('PORT must be set');

const app = express();
const withSession = variant === 'express-session';
if (withSession) {
  app.use(session({
    secret: process.env.SECRET || 'benchmark-secret',
    resave: false,
    saveUninitialized: false,
  }));
}

app.get('/read', (req, res) => {
  res.send(withSession ? String(req.session.views) : 'ok');
});

app.get('/write', (req, res) => {
  if (!withSession) return res.send('ok');
  req.session.views = (req.session.views || 0) + 1;
  res.send(String(req.session.views));
});

app.get('/login/:user', (req, res) => {
  if (!withSession) return res.send('ok');
  req.session.user = req.params.user;
  req.session.views = 1;
  res.send('1');
});

app.listen(port, '127.0.0.1');
