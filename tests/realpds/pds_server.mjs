// The official Bluesky PDS (@atproto/pds) with an in-memory PLC (@did-plc/server), on 127.0.0.1,
// for tests/realpds. Not part of crosspost: a test peer.
//
//   node tests/realpds/pds_server.mjs <node_modules parent dir> <pds port> <plc port>
//
// Prints one JSON line {"ready": true, "pds": url, "plc": url} once both servers answer, then
// runs until SIGTERM/SIGINT (it then stops both and deletes its data directory). A fresh data
// directory on every start: the in-memory PLC forgets every DID when it stops.
import { createRequire } from 'node:module'
import fs from 'node:fs'
import os from 'node:os'
import path from 'node:path'

const [modulesDir, pdsPortArg, plcPortArg] = process.argv.slice(2)
if (!modulesDir || !pdsPortArg || !plcPortArg) {
  console.error('usage: pds_server.mjs <install dir> <pds port> <plc port>')
  process.exit(2)
}
// The packages live in the install cache (.cache/pds), not next to this script; they are CommonJS.
const require = createRequire(path.join(path.resolve(modulesDir), 'package.json'))
const { PDS, envToCfg, envToSecrets, readEnv } = require('@atproto/pds')
const { PlcServer, Database: PlcDatabase } = require('@did-plc/server')
const { Secp256k1Keypair } = require('@atproto/crypto')

const HOST = '127.0.0.1'
const pdsPort = Number(pdsPortArg)
const plcPort = Number(plcPortArg)

// Both servers call app.listen(port), which listens on every interface: bind them to loopback.
function loopbackOnly(app) {
  const listen = app.listen.bind(app)
  app.listen = (port, ...rest) => listen(port, HOST, ...rest.filter((a) => typeof a === 'function'))
}

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'crosspost-pds-'))
const plc = PlcServer.create({ db: PlcDatabase.mock(), port: plcPort })
loopbackOnly(plc.app)
await plc.start()

const rotationKey = await Secp256k1Keypair.create({ exportable: true })
Object.assign(process.env, {
  PDS_HOSTNAME: 'localhost',
  PDS_PORT: String(pdsPort),
  PDS_DATA_DIRECTORY: dataDir,
  PDS_BLOBSTORE_DISK_LOCATION: path.join(dataDir, 'blobs'),
  PDS_JWT_SECRET: 'realpds-test-jwt-secret',
  PDS_ADMIN_PASSWORD: 'realpds-test-admin-password',
  PDS_PLC_ROTATION_KEY_K256_PRIVATE_KEY_HEX: Buffer.from(await rotationKey.export()).toString('hex'),
  PDS_DID_PLC_URL: `http://${HOST}:${plcPort}`,
  PDS_INVITE_REQUIRED: 'false',
  PDS_DEV_MODE: 'true',
  PDS_DISABLE_SSRF_PROTECTION: 'true',
  PDS_SERVICE_HANDLE_DOMAINS: '.test',
  LOG_ENABLED: 'false',
})
const env = readEnv()
const pds = await PDS.create(envToCfg(env), envToSecrets(env))
loopbackOnly(pds.app)
await pds.start()

console.log(JSON.stringify({ ready: true, pds: `http://${HOST}:${pdsPort}`, plc: `http://${HOST}:${plcPort}` }))

let stopping = false
async function stop() {
  if (stopping) return
  stopping = true
  try {
    await pds.destroy()
    await plc.destroy()
  } finally {
    fs.rmSync(dataDir, { recursive: true, force: true })
    process.exit(0)
  }
}
process.on('SIGTERM', stop)
process.on('SIGINT', stop)
