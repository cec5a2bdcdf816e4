// The pipe's floor for large FORWARDs (a benchmark, not a test): SIZE bytes host → child, 40 back; the
// child reads with blocking readSync like the enclave's serving loop. Medians of 50 after 10 warm-up.
//   npx tsx bench/pipe-bandwidth.ts [SIZE]   (default 2359296: MNIST k = 3's cut tensor at batch 64)
import { spawn } from 'node:child_process';
const size = Number(process.argv[2] ?? 2359296);
// child: reads all of `size` bytes with blocking readSync (like the enclave), answers 40 bytes.
const child = spawn(process.execPath, ['-e', `const fs=require('fs');const b=Buffer.alloc(65536);let got=0;for(;;){const n=fs.readSync(0,b,0,b.length,null);if(n===0)break;got+=n;if(got>=${size}){got=0;fs.writeSync(1,Buffer.alloc(40));}}`], { stdio: ['pipe', 'pipe', 'ignore'], env: {} });
const msg = Buffer.alloc(size, 1);
let done: () => void = () => undefined;
child.stdout.on('data', () => done());
const t: number[] = [];
for (let i = 0; i < 60; i++) {
  const t0 = process.hrtime.bigint();
  await new Promise<void>((r) => { done = r; child.stdin.write(msg); });
  if (i >= 10) t.push(Number(process.hrtime.bigint() - t0) / 1e6);
}
child.kill();
t.sort((a, b) => a - b);
console.log(`${size} bytes one way + 40 back: median ${t[t.length >> 1]!.toFixed(2)} ms = ${(size / t[t.length >> 1]! / 1e3).toFixed(0)} MB/s`);
