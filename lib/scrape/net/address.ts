// Which network an address belongs to, and a DNS lookup that refuses the ones not allowed, so a
// result link cannot make the scraper reach into the local machine or network (SSRF). Checking the
// resolved address at connect time also covers names that resolve to private addresses.
import * as dns from "node:dns";
import * as net from "node:net";

export type AddressClass = "public" | "loopback" | "private";

/** public-only: the internet; allow-loopback: also this machine (tests, the embedded server); allow-private: anything. */
export type NetworkPolicy = "public-only" | "allow-loopback" | "allow-private";

const V4_NOT_PUBLIC: [string, number, AddressClass][] = [
  ["127.0.0.0", 8, "loopback"],
  ["0.0.0.0", 8, "private"], // "this network"
  ["10.0.0.0", 8, "private"],
  ["100.64.0.0", 10, "private"], // carrier-grade NAT
  ["169.254.0.0", 16, "private"], // link-local, cloud metadata endpoints
  ["172.16.0.0", 12, "private"],
  ["192.0.0.0", 24, "private"],
  ["192.168.0.0", 16, "private"],
  ["198.18.0.0", 15, "private"], // benchmarking
  ["224.0.0.0", 4, "private"], // multicast
  ["240.0.0.0", 4, "private"], // reserved, broadcast
];

function v4ToInt(address: string): number {
  return address.split(".").reduce((n, part) => n * 256 + Number(part), 0);
}

function classifyV4(address: string): AddressClass {
  const value = v4ToInt(address);
  for (const [base, bits, kind] of V4_NOT_PUBLIC) {
    const size = 2 ** (32 - bits);
    const start = v4ToInt(base);
    if (value >= start && value < start + size) return kind;
  }
  return "public";
}

/** The 8 groups of an IPv6 address as numbers (handles "::" and a dotted IPv4 tail). */
function v6Groups(address: string): number[] {
  let text = address.toLowerCase().split("%")[0];
  const dotted = text.match(/(\d+\.\d+\.\d+\.\d+)$/);
  if (dotted) {
    const v = v4ToInt(dotted[1]);
    text = text.slice(0, -dotted[1].length) + `${(v >>> 16).toString(16)}:${(v & 0xffff).toString(16)}`;
  }
  const [head, tail] = text.split("::");
  const parse = (part: string | undefined) => (part ? part.split(":").map((g) => parseInt(g, 16)) : []);
  const front = parse(head);
  const back = parse(tail);
  return tail === undefined ? front : [...front, ...new Array(8 - front.length - back.length).fill(0), ...back];
}

function classifyV6(address: string): AddressClass {
  const g = v6Groups(address);
  if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
    return classifyV4(`${g[6] >> 8}.${g[6] & 255}.${g[7] >> 8}.${g[7] & 255}`); // IPv4-mapped
  }
  if (g.slice(0, 7).every((x) => x === 0)) return g[7] === 1 ? "loopback" : "private"; // ::1, ::
  if ((g[0] & 0xfe00) === 0xfc00) return "private"; // unique local
  if ((g[0] & 0xffc0) === 0xfe80) return "private"; // link-local
  if ((g[0] & 0xff00) === 0xff00) return "private"; // multicast
  return "public";
}

export function classifyAddress(address: string): AddressClass {
  const family = net.isIP(address);
  if (family === 4) return classifyV4(address);
  if (family === 6) return classifyV6(address);
  throw new Error(`not an IP address: ${address}`);
}

/** Why the address is refused under the policy, or undefined when it may be reached. */
export function refusal(address: string, policy: NetworkPolicy): string | undefined {
  const kind = classifyAddress(address);
  if (kind === "public" || policy === "allow-private" || (kind === "loopback" && policy === "allow-loopback")) return undefined;
  const allow = kind === "loopback" ? "allow loopback or private addresses" : "allow private addresses";
  return `${address} is a ${kind} address, refused (${allow} explicitly to reach it)`;
}

type LookupCallback = (error: NodeJS.ErrnoException | null, address: string | dns.LookupAddress[], family?: number) => void;

/** A `lookup` for http.request that fails the connection when a resolved address is refused. */
export function checkedLookup(policy: NetworkPolicy) {
  return (hostname: string, options: dns.LookupOptions, callback: LookupCallback): void => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses) => {
      if (error) return callback(error, "");
      const refused = addresses.map((a) => refusal(a.address, policy)).find((why) => why !== undefined);
      if (refused) {
        const blocked = Object.assign(new Error(`${hostname} resolves to ${refused}`), { code: "EADDRBLOCKED" });
        return callback(blocked, "");
      }
      if (options.all) return callback(null, addresses);
      callback(null, addresses[0].address, addresses[0].family);
    });
  };
}
