// The Python that can import torch, for the PyTorch peers: KILN_PYTHON if set, else `python3` on the PATH, else
// Debian's /usr/bin/python3 (where `apt-get install python3-torch` puts torch, which a pyenv python3 shadows).
import { execFileSync } from 'node:child_process';

export const NO_TORCH = 'PyTorch skipped: no python3 can import torch (Debian: apt-get install python3-torch libopenblas0-pthread, or set KILN_PYTHON; see bench/NOTES.md on OpenBLAS)';

/** The interpreter's path or name, or null when none of the candidates imports torch. */
export function torchPython() {
  const candidates = [process.env.KILN_PYTHON, 'python3', '/usr/bin/python3'].filter((p) => p);
  for (const py of candidates) {
    try {
      execFileSync(py, ['-c', 'import torch'], { stdio: 'ignore' });
      return py;
    } catch {
      // next candidate
    }
  }
  return null;
}
