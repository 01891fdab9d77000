// Preloaded (node --import) into every replica a ClusterSupervisor starts.
// If the supervising process dies without stopping its replicas (SIGKILL of
// `quorumchat up` cannot be caught), a replica is re-parented; on noticing,
// it stops itself cleanly with SIGTERM instead of lingering as an orphan.
// Plain JavaScript: it runs before quorumchat.mjs registers tsx.
import process from 'node:process';
import { clearInterval, setInterval } from 'node:timers';

/** Noticing within a second is prompt enough; the check is one syscall. */
const PARENT_CHECK_INTERVAL_MS = 1_000;

const supervisor = Number(process.env.QUORUMCHAT_SUPERVISOR_PID);
if (Number.isSafeInteger(supervisor) && supervisor > 0 && process.ppid === supervisor) {
  const timer = setInterval(() => {
    if (process.ppid !== supervisor) {
      clearInterval(timer);
      process.kill(process.pid, 'SIGTERM');
    }
  }, PARENT_CHECK_INTERVAL_MS);
  // Never the reason the process stays alive.
  timer.unref();
}
