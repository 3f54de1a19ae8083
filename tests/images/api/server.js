// The test API: GET / answers its version (and which settings it received), /health its health.
"use strict";
const express = require("express");

const app = express();
const version = process.env.APP_VERSION || "unknown";
let shuttingDown = false;

app.get("/health", (req, res) => res.status(shuttingDown ? 503 : 200).json({ status: shuttingDown ? "stopping" : "ok" }));
app.get("/", (req, res) => res.json({
  version,
  dbName: process.env.DB_NAME || null,
  hasMongoUri: Boolean(process.env.MONGODB_URI),
  forwardedProto: req.get("x-forwarded-proto") || null,
}));

const server = app.listen(Number(process.env.PORT || 3000), () => console.log(`api ${version} listening`));
// Finish what is in flight on SIGTERM, so a redeploy drops no request.
process.on("SIGTERM", () => {
  shuttingDown = true;
  server.close(() => process.exit(0));
  setTimeout(() => process.exit(0), 10000).unref();
});
