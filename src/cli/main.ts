#!/usr/bin/env node
// The hmmsim executable (docs/cli.md): runs the command line and exits with its code.
import { runCli } from "./program.js";

runCli(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
