// Starts one API-compatible AWS server on 127.0.0.1 and prints "listening <port>" once it accepts
// connections. Usage: node serve.js kinesis|dynamodb|s3 [dir]
'use strict'
const kind = process.argv[2]
const dir = process.argv[3]
const host = '127.0.0.1'

// kinesalite (and dynalite) rethrow a request's 'error' event, so a client that hangs up in the
// middle of a request — a test cancelling its context, a process killed on purpose — would take
// the whole server down with it, and every later test with it. A hung-up client is not the
// server's failure: log it and keep serving.
process.on('uncaughtException', (err) => {
  if (err && (err.code === 'ECONNRESET' || err.code === 'EPIPE' || err.message === 'aborted')) {
    console.error('serve.js: a client hung up mid-request (' + (err.code || err.message) + '); still serving')
    return
  }
  console.error(err)
  process.exit(1)
})

function ready(server) {
  server.on('error', (err) => { console.error(err); process.exit(1) })
  server.listen(0, host, () => { console.log('listening ' + server.address().port) })
}

switch (kind) {
  case 'kinesis': {
    // No shard-creation delays: tests create streams and reshard them.
    ready(require('kinesalite')({ createStreamMs: 0, deleteStreamMs: 0, updateStreamMs: 0, shardLimit: 100 }))
    break
  }
  case 'dynamodb': {
    ready(require('dynalite')({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 }))
    break
  }
  case 's3': {
    const S3rver = require('s3rver')
    const s3 = new S3rver({ address: host, port: 0, silent: true, directory: dir, resetOnClose: true })
    s3.run().then((addr) => console.log('listening ' + addr.port)).catch((err) => { console.error(err); process.exit(1) })
    break
  }
  default:
    console.error('usage: node serve.js kinesis|dynamodb|s3 [dir]')
    process.exit(2)
}
// Stop when the parent (the Go test binary) goes away.
process.stdin.resume()
process.stdin.on('end', () => process.exit(0))
