// Validate documents with the official @openactive/data-model-validator; print each one's findings as JSON.
// Usage: node data-model.js CACHE_DIR < documents.json   (a JSON array; NODE_PATH names the node_modules)
// Remote JSON (the Activity List) is read from CACHE_DIR, which the test set-up seeds: no network is used.
const { validate } = require('@openactive/data-model-validator');

async function readStdin() {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  return Buffer.concat(chunks).toString('utf8');
}

async function main() {
  const options = {
    loadRemoteJson: true,
    remoteJsonCachePath: process.argv[2],
    remoteJsonCacheTimeToLive: 24 * 60 * 60,
  };
  const documents = JSON.parse(await readStdin());
  const results = [];
  for (const document of documents) {
    const findings = await validate(document, options);
    results.push(findings.map((finding) => ({
      severity: finding.severity,
      type: finding.type,
      path: finding.path,
      message: finding.message,
    })));
  }
  process.stdout.write(JSON.stringify(results));
}

main().catch((error) => {
  process.stderr.write(`${error.stack}\n`);
  process.exit(1);
});
