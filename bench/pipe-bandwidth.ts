// The pipe's floors under a FORWARD (a benchmark, not a test): SIZE bytes host → child, 40 back; the
// child reads with blocking readSync like the enclave's serving loop; the host waits on its event
// loop. Medians of 50 after 10 warm-up, back to back, then the same with IDLE ms of sleep before
// each call (the bench's cold figure waits ≥ 10 ms: the floor under t_enclave_cold).
//   npx tsx bench/pipe-bandwidth.ts [SIZE] [IDLE]   (defaults 2359296 — MNIST k = 3's cut tensor at
//   batch 64 — and 12)
import { spawn } from 'node:child_process';
import { setTimeout as sleep } from 'node:timers/promises';
import { loadavg } from 'node:os';

const size = Number(process.argv[2] ?? 2359296);
const idleMs = Number(process.argv[3] ?? 12);
// child: reads all of `size` bytes with blocking readSync (like the enclave), answers 40 bytes.
const child = spawn(process.execPath, ['-e', `const fs=require('fs');const b=Buffer.alloc(65536);let got=0;for(;;){const n=fs.readSync(0,b,0,b.length,null);if(n===0)break;got+=n;if(got>=${size}){got=0;fs.writeSync(1,Buffer.alloc(40));}}`], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
const msg = Buffer.alloc(size, 1);
let done: () => void = () => undefined;
child.stdout.on('data', () => done());

async function median(idle: number): Promise<number> {
  const t: number[] = [];
  for (let i = 0; i < 60; i++) {
    if (idle > 0) await sleep(idle);
    const t0 = process.hrtime.bigint();
    await new Promise<void>((r) => { done = r; child.stdin.write(msg); });
    if (i >= 10) t.push(Number(process.hrtime.bigint() - t0) / 1e6);
  }
  t.sort((a, b) => a - b);
  return t[t.length >> 1]!;
}
const load0 = loadavg();
const hot = await median(0);
const cold = await median(idleMs);
child.kill();
const ms = (x: number) => (x < 1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(2)} ms`);
console.log(`${size} bytes one way + 40 back: median ${ms(hot)} back to back (${(size / hot / 1e3).toFixed(0)} MB/s), ${ms(cold)} after ${idleMs} ms idle`);
console.log(`load average ${load0.map((l) => l.toFixed(2)).join(' ')} → ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
