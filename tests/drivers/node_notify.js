// LISTEN/NOTIFY as node-postgres (`pg`) offers it: the client's 'notification' event on
// a listening connection while a second one (on another worker of mallard) notifies,
// in autocommit and in transactions, and rolls one back.
//
// Usage: NODE_PATH=<dir with pg> node node_notify.js "host=... port=... user=... dbname=..."
// Prints one line per check; the first failure exits 1 with what was expected and seen.

'use strict';
const assert = require('node:assert');
const { Client } = require('pg');

function config(conninfo) {
  const kv = Object.fromEntries(conninfo.trim().split(/\s+/).filter(Boolean).map((w) => w.split('=', 2)));
  return { host: kv.host, port: kv.port ? Number(kv.port) : undefined, user: kv.user, database: kv.dbname };
}

function check(name, got, want) {
  try {
    assert.deepStrictEqual(got, want);
  } catch {
    console.log(`FAIL ${name}: expected ${JSON.stringify(want)}, got ${JSON.stringify(got)}`);
    process.exit(1);
  }
  console.log(`ok   ${name}`);
}

/** Collects notifications; `next(n)` waits up to 10 s for the next n. */
function inbox(client) {
  const queue = [];
  const waiters = [];
  client.on('notification', (msg) => {
    queue.push(`${msg.channel} ${msg.payload} ${msg.processId}`);
    while (waiters.length && queue.length >= waiters[0].n) {
      const w = waiters.shift();
      w.resolve(queue.splice(0, w.n));
    }
  });
  return {
    next(n) {
      if (queue.length >= n) return Promise.resolve(queue.splice(0, n));
      return new Promise((resolve) => {
        const timer = setTimeout(() => resolve(queue.splice(0)), 10000);
        waiters.push({ n, resolve: (got) => { clearTimeout(timer); resolve(got); } });
      });
    },
  };
}

async function pid(client) {
  return (await client.query('select pg_backend_pid() as pid')).rows[0].pid;
}

async function main(target) {
  const listener = new Client(config(target));
  await listener.connect();
  const sender = new Client(config(target));
  await sender.connect();
  const me = await pid(listener);
  const them = await pid(sender);
  const received = inbox(listener);
  await listener.query('LISTEN jobs');

  await sender.query("NOTIFY jobs, 'from node-postgres'");
  check("NOTIFY arrives with the sender's pid", await received.next(1), [`jobs from node-postgres ${them}`]);

  await sender.query('BEGIN');
  for (const payload of ['first', 'second', 'first']) {
    await sender.query('select pg_notify($1, $2)', ['jobs', payload]);
  }
  await sender.query('COMMIT');
  check("a transaction's notifications, once each, in order", await received.next(2),
    [`jobs first ${them}`, `jobs second ${them}`]);

  await sender.query('BEGIN');
  await sender.query("NOTIFY jobs, 'rolled back'");
  await sender.query('ROLLBACK');
  await sender.query("NOTIFY jobs, 'after the rollback'");
  check('nothing from a rolled-back transaction', await received.next(1), [`jobs after the rollback ${them}`]);

  await listener.query("NOTIFY jobs, 'self'");
  check('a session hears itself', await received.next(1), [`jobs self ${me}`]);

  await listener.query('UNLISTEN jobs');
  await listener.query('LISTEN marks');
  await sender.query("NOTIFY jobs, 'unheard'");
  await sender.query("NOTIFY marks, 'heard'");
  check('nothing after UNLISTEN', await received.next(1), [`marks heard ${them}`]);

  await listener.end();
  await sender.end();
  console.log('all node-postgres notification checks passed');
}

main(process.argv[2] || '').catch((e) => {
  console.log(`FAIL ${e.constructor.name}: ${e.message}`);
  process.exit(1);
});
