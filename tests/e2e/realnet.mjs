// The leader on a host of its own for realnet.test.mjs: a network namespace joined to the
// root one by a veth pair, and the line's faults made by the kernel (nftables drops, an
// NFQUEUE consumer that holds packets, tbf, the link set down). Fixed names, one run at a
// time; a guardian process holds the lock and tears everything down however Node ends.
import { spawn, spawnSync, execFile } from "node:child_process";
import { once } from "node:events";
import { ROOT } from "./harness.mjs";

/** Fixed names and addresses: a crashed run's leftovers are found and removed by name. */
export const NET = {
  ns: "hp-leader",
  hostIf: "hp-veth0", // the root namespace's end (the visitor's side)
  leaderIf: "hp-veth1", // the leader's end, inside the namespace
  subnet: "10.203.0.0/30",
  host: "10.203.0.1",
  leader: "10.203.0.2",
  table: "hp_realnet", // nftables, family netdev, in both namespaces
  queue: 0, // the NFQUEUE number of the delay
  lock: "/tmp/hp-realnet.lock",
};
const DELAYQ = process.env.DELAYQ ?? `${ROOT}target/release/delayq`;
/** The command prefix that runs a process on the leader's host. */
export const IN_LEADER = ["ip", "netns", "exec", NET.ns];

// Idempotent, and needs nothing from Node: the guardian runs it after Node is gone, a new
// run runs it first (a crashed run's leftovers), Node runs it on a signal.
const CLEANUP = `
pids() { ip netns pids ${NET.ns} 2>/dev/null; }
if [ -n "$(pids)" ]; then
  kill -TERM $(pids) 2>/dev/null
  for _ in $(seq 40); do [ -z "$(pids)" ] && break; sleep 0.1; done
  [ -n "$(pids)" ] && kill -KILL $(pids) 2>/dev/null
  for _ in $(seq 20); do [ -z "$(pids)" ] && break; sleep 0.1; done
fi
ip netns del ${NET.ns} 2>/dev/null
ip link del ${NET.hostIf} 2>/dev/null
while ip route del unreachable ${NET.subnet} 2>/dev/null; do :; done
nft delete table netdev ${NET.table} 2>/dev/null
true
`;

/** Runs a command; rejects with its stderr. */
export function run(cmd, args, { input } = {}) {
  return new Promise((resolve, reject) => {
    const child = execFile(cmd, args, { timeout: 15000 }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(" ")}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
    if (input != null) child.stdin.end(input);
  });
}
const inLeader = (cmd, args, opts) => run(IN_LEADER[0], [...IN_LEADER.slice(1), cmd, ...args], opts);

/** What is left of the network after a run: for the closing note and the teardown check. */
export function leftovers() {
  const out = (cmd, args) => spawnSync(cmd, args, { encoding: "utf8" }).stdout ?? "";
  return {
    netns: out("ip", ["netns", "list"]).split("\n").filter((l) => l.startsWith(NET.ns)),
    veth: out("ip", ["-o", "link", "show"]).split("\n").filter((l) => l.includes(NET.hostIf)),
    tables: out("nft", ["list", "tables"]).split("\n").filter((l) => l.includes(NET.table)),
    routes: out("ip", ["route", "show", NET.subnet]).split("\n").filter(Boolean),
  };
}

/**
 * Takes the run lock through a guardian (`flock` holding it for as long as the guardian
 * lives), which first removes a crashed run's leftovers and, once Node's end of its stdin
 * closes (a normal end, a failed assertion, Ctrl-C, even SIGKILL), removes everything again
 * and only then lets the lock go. Node also cleans up itself on SIGINT/SIGTERM, so the
 * machine is clean when the process is gone.
 */
export async function lock(waitS = 300) {
  const guardian = spawn("flock", ["-w", String(waitS), NET.lock, "bash", "-c", `${CLEANUP}\necho locked\ncat >/dev/null\n${CLEANUP}\necho cleaned`], {
    detached: true, // its own process group: Ctrl-C in the terminal does not reach it
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(guardian, "exit");
  let out = "";
  await new Promise((resolve, reject) => {
    guardian.stdout.on("data", (d) => {
      out += d;
      if (out.includes("locked")) resolve();
    });
    guardian.once("error", reject);
    exited.then(([code]) => reject(new Error(`could not take ${NET.lock} within ${waitS} s (flock exit ${code}): another realnet run holds it`)));
  });
  const onSignal = (sig) => {
    spawnSync("bash", ["-c", CLEANUP], { stdio: "ignore" });
    process.exit(sig === "SIGINT" ? 130 : 143);
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  guardian.unref();
  guardian.stdout.unref?.();
  guardian.stdin.unref?.();
  return {
    /** Lets the guardian tear down and release the lock; resolves once it has. */
    async release() {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      guardian.ref(); // wait for it: the teardown is done when it exits
      guardian.stdin.end();
      await exited;
    },
  };
}

/**
 * The leader's host: the namespace, the veth pair with a /30, loopback up inside, the
 * `unreachable` route under the pair's own (with the link down, nothing to 10.203.0.0/30
 * may take the default route), and an empty nftables ingress chain at each end for the
 * faults. Fails, saying why, where namespaces can't be made.
 */
export async function createNet() {
  try {
    await run("ip", ["netns", "add", NET.ns]);
  } catch (e) {
    throw new Error(`cannot create the network namespace ${NET.ns} (this suite needs root and CONFIG_NET_NS): ${e.message}`);
  }
  await run("ip", ["link", "add", NET.hostIf, "type", "veth", "peer", "name", NET.leaderIf, "netns", NET.ns]);
  await run("ip", ["addr", "add", `${NET.host}/30`, "dev", NET.hostIf]);
  await run("ip", ["link", "set", NET.hostIf, "up"]);
  await run("ip", ["route", "add", "unreachable", NET.subnet, "metric", "4000"]);
  await run("ip", ["-n", NET.ns, "link", "set", "lo", "up"]);
  await run("ip", ["-n", NET.ns, "addr", "add", `${NET.leader}/30`, "dev", NET.leaderIf]);
  await run("ip", ["-n", NET.ns, "link", "set", NET.leaderIf, "up"]);
  await run("nft", ["-f", "-"], { input: table(NET.hostIf) });
  await inLeader("nft", ["-f", "-"], { input: table(NET.leaderIf) });
}

function table(dev) {
  return `table netdev ${NET.table} {\n  chain ingress { type filter hook ingress device "${dev}" priority -500; policy accept; }\n}\n`;
}

/** Adds `rule` to the ingress chain of both ends (both directions of the line). */
async function bothEnds(rule) {
  await run("nft", ["add", "rule", "netdev", NET.table, "ingress", ...rule]);
  await inLeader("nft", ["add", "rule", "netdev", NET.table, "ingress", ...rule]);
}
async function clearBothEnds() {
  await run("nft", ["flush", "chain", "netdev", NET.table, "ingress"]);
  await inLeader("nft", ["flush", "chain", "netdev", NET.table, "ingress"]);
}

/** Each fault is `{ apply(), clear() }`; clear() puts the line back as it was. */
export const faults = {
  /** Every packet dropped at the ingress of both ends: the site is dark. */
  blackout: () => ({ apply: () => bothEnds(["drop"]), clear: clearBothEnds }),
  /** `percent` % of the packets dropped at each end, independently. */
  loss: (percent) => ({ apply: () => bothEnds(["numgen", "random", "mod", "100", "<", String(percent), "drop"]), clear: clearBothEnds }),
  /** The leader's own link down (its cable pulled): the root end sees no carrier. */
  linkDown: () => ({
    apply: () => run("ip", ["-n", NET.ns, "link", "set", NET.leaderIf, "down"]),
    clear: () => run("ip", ["-n", NET.ns, "link", "set", NET.leaderIf, "up"]),
  }),
  /**
   * The uplink alone lost: in the leader's namespace, TCP to `port` (where it reaches AWS)
   * dropped on the way out and from it on the way in. Visitors still reach the leader.
   */
  uplink: (port) => {
    const name = `${NET.table}_uplink`;
    return {
      apply: () => inLeader("nft", ["-f", "-"], {
        input: `table inet ${name} {\n  chain out { type filter hook output priority 0; policy accept; tcp dport ${port} drop; }\n`
          + `  chain in { type filter hook input priority 0; policy accept; tcp sport ${port} drop; }\n}\n`,
      }),
      clear: () => inLeader("nft", ["delete", "table", "inet", name]),
    };
  },
  /** A slow line to one port: what the leader's host sends to `port` held `ms` (the queue consumer, in the namespace). */
  slowPort: (port, ms) => {
    let q = null;
    const rule = ["-t", "mangle", "-A", "OUTPUT", "-p", "tcp", "--dport", String(port), "-j", "NFQUEUE", "--queue-num", String(NET.queue), "--queue-bypass"];
    return {
      async apply() {
        q = await startDelay(ms);
        await inLeader("iptables", rule);
      },
      async clear() {
        await inLeader("iptables", ["-t", "mangle", "-D", ...rule.slice(3)]);
        const said = await q?.stop();
        q = null;
        return said;
      },
    };
  },
  /** A far line: packets toward the leader held `oneWayMs` at the namespace's ingress, and `mbit` each way (tbf at both ends). */
  far: (oneWayMs, mbit) => {
    let q = null;
    const tbf = ["tbf", "rate", `${mbit}mbit`, "burst", "16kb", "latency", "1s"];
    return {
      async apply() {
        await run("tc", ["qdisc", "replace", "dev", NET.hostIf, "root", ...tbf]);
        await inLeader("tc", ["qdisc", "replace", "dev", NET.leaderIf, "root", ...tbf]);
        q = await startDelay(oneWayMs);
        // --queue-bypass: should the consumer be gone, packets pass instead of vanishing.
        await inLeader("iptables", ["-t", "mangle", "-A", "PREROUTING", "-i", NET.leaderIf, "-j", "NFQUEUE", "--queue-num", String(NET.queue), "--queue-bypass"]);
      },
      async clear() {
        await inLeader("iptables", ["-t", "mangle", "-F", "PREROUTING"]);
        const said = await q?.stop();
        q = null;
        await run("tc", ["qdisc", "del", "dev", NET.hostIf, "root"]);
        await inLeader("tc", ["qdisc", "del", "dev", NET.leaderIf, "root"]);
        return said;
      },
    };
  },
};

/**
 * Starts `args` on the leader's host and waits until it prints "ready" (or exits: an error
 * naming `name`, with what it printed). `output()` is all it has printed so far.
 */
async function readyInLeader(name, args, options = {}) {
  const child = spawn(IN_LEADER[0], [...IN_LEADER.slice(1), ...args], { ...options, stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  child.stdout.on("data", (d) => { out += d; });
  child.stderr.on("data", (d) => { out += d; });
  const exited = once(child, "exit");
  await new Promise((resolve, reject) => {
    const t = setInterval(() => out.includes("ready") && (clearInterval(t), resolve()), 20);
    exited.then(([code]) => { clearInterval(t); reject(new Error(`${name} exited ${code}: ${out}`)); });
  });
  return { child, exited, output: () => out };
}

/**
 * A TCP relay on the leader's host, from `NET.leader:port` to `to` on its loopback: the
 * operator's way to the app itself (an administrator's script on the host, where NGINX's
 * limit of 2 writes a second per address does not apply). `stop()` ends it.
 */
export async function startRelay(port, to) {
  const code = `const net = require("net");
net.createServer((c) => {
  const u = net.connect(${to.port}, "${to.host}");
  c.pipe(u); u.pipe(c);
  c.on("error", () => u.destroy()); u.on("error", () => c.destroy());
}).listen(${port}, "${NET.leader}", () => console.log("ready"));`;
  const { child, exited } = await readyInLeader("the relay", [process.execPath, "-e", code]);
  return { url: `http://${NET.leader}:${port}`, stop: async () => { child.kill("SIGTERM"); await exited; } };
}

/** The queue consumer (tests/delayq) inside the namespace; stop() lets held packets go and waits for its exit. */
async function startDelay(ms) {
  const { child, exited, output } = await readyInLeader("delayq", [DELAYQ, "--queue", String(NET.queue), "--delay-ms", String(ms)], { detached: true });
  return {
    async stop() {
      child.kill("SIGTERM");
      const [code, signal] = await exited;
      if (code !== 0) throw new Error(`delayq did not stop cleanly (exit ${code ?? signal}): ${output()}`);
      return output().trim().split("\n").pop();
    },
  };
}
