// Walk one RPDE feed with the official @openactive/rpde-validator; print every finding as JSON.
// Usage: node rpde.js FEED_URL   (NODE_PATH names the node_modules the test set-up installed)
const { RpdeValidator } = require('@openactive/rpde-validator');

async function main() {
  const url = process.argv[2];
  const log = await RpdeValidator(url, { timeoutMs: 10000 });
  const findings = [];
  for (const page of log.pages) {
    for (const error of page.errors) {
      findings.push({
        page: page.url,
        severity: error.severity,
        type: error.type,
        message: error.message,
      });
    }
  }
  process.stdout.write(JSON.stringify({ pages: log.pages.map((page) => page.url), findings }));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
