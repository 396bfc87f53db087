// One HTTP exchange with hard limits: a deadline for the whole response, a body size cap (also
// after decompression), and the address policy applied to the connection itself.
import * as http from "node:http";
import * as https from "node:https";
import * as net from "node:net";
import * as zlib from "node:zlib";
import { checkedLookup, refusal, type NetworkPolicy } from "./address";

export type FailureKind =
  | "bad-url"
  | "blocked-address"
  | "robots"
  | "http-status"
  | "server-error"
  | "timeout"
  | "too-large"
  | "redirect-loop"
  | "too-many-redirects"
  | "network";

export class FetchError extends Error {
  constructor(
    readonly kind: FailureKind,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

export interface Exchange {
  status: number;
  headers: http.IncomingHttpHeaders;
  /** Empty for redirects and error statuses: their bodies are not kept. */
  body: Buffer;
}

export interface RequestLimits {
  timeoutMs: number;
  maxBytes: number;
  userAgent: string;
  network: NetworkPolicy;
  agents: { http: http.Agent; https: https.Agent };
}

export function createAgents(network: NetworkPolicy): { http: http.Agent; https: https.Agent } {
  const lookup = checkedLookup(network) as unknown as net.LookupFunction;
  return {
    http: new http.Agent({ keepAlive: true, maxSockets: 8, lookup } as http.AgentOptions),
    https: new https.Agent({ keepAlive: true, maxSockets: 8, lookup } as https.AgentOptions),
  };
}

function megabytes(bytes: number): string {
  return bytes >= 1e6 ? `${(bytes / 1e6).toFixed(1)} MB` : `${Math.round(bytes / 1e3)} kB`;
}

function decompress(body: Buffer, encoding: string | undefined, maxBytes: number): Buffer {
  const options = { maxOutputLength: maxBytes };
  try {
    switch ((encoding ?? "identity").trim().toLowerCase()) {
      case "gzip": case "x-gzip": return zlib.gunzipSync(body, options);
      case "deflate": return zlib.inflateSync(body, options);
      case "br": return zlib.brotliDecompressSync(body, options);
      default: return body;
    }
  } catch (error) {
    if (error instanceof RangeError || (error as NodeJS.ErrnoException).code === "ERR_BUFFER_TOO_LARGE") {
      throw new FetchError("too-large", `body is over the ${megabytes(maxBytes)} limit once decompressed`);
    }
    throw new FetchError("network", `cannot decompress the ${encoding} body (${(error as Error).message})`);
  }
}

/** Performs one GET; never follows redirects, never retries. Rejects with FetchError. */
export function requestOnce(url: URL, limits: RequestLimits): Promise<Exchange> {
  const host = url.hostname.replace(/^\[|\]$/g, "");
  if (net.isIP(host)) {
    const why = refusal(host, limits.network);
    if (why) return Promise.reject(new FetchError("blocked-address", why));
  }
  const secure = url.protocol === "https:";
  return new Promise<Exchange>((resolve, reject) => {
    let settled = false;
    const finish = (error: FetchError | undefined, exchange?: Exchange) => {
      if (settled) return;
      settled = true;
      clearTimeout(deadline);
      if (error) {
        request.destroy();
        reject(error);
      } else resolve(exchange!);
    };
    const request = (secure ? https : http).request(url, {
      method: "GET",
      agent: secure ? limits.agents.https : limits.agents.http,
      headers: {
        "User-Agent": limits.userAgent,
        Accept: "image/avif,image/webp,image/png,image/jpeg,image/*;q=0.9,text/html;q=0.8,application/json;q=0.8,*/*;q=0.5",
        "Accept-Encoding": "gzip, deflate, br",
      },
    });
    const deadline = setTimeout(() => finish(new FetchError("timeout", `no complete response within ${limits.timeoutMs} ms`)), limits.timeoutMs);
    request.on("error", (error: NodeJS.ErrnoException) => {
      if (error.code === "EADDRBLOCKED") finish(new FetchError("blocked-address", error.message));
      else finish(new FetchError("network", `${error.code ?? "error"}: ${error.message}`));
    });
    request.on("response", (response) => {
      const status = response.statusCode ?? 0;
      if (status < 200 || status >= 300) {
        response.resume(); // drain, keep the connection reusable
        response.on("end", () => finish(undefined, { status, headers: response.headers, body: Buffer.alloc(0) }));
        return;
      }
      const declared = Number(response.headers["content-length"]);
      if (Number.isFinite(declared) && declared > limits.maxBytes) {
        finish(new FetchError("too-large", `Content-Length ${megabytes(declared)} is over the ${megabytes(limits.maxBytes)} limit`));
        return;
      }
      const chunks: Buffer[] = [];
      let received = 0;
      response.on("data", (chunk: Buffer) => {
        received += chunk.length;
        if (received > limits.maxBytes) finish(new FetchError("too-large", `body is over the ${megabytes(limits.maxBytes)} limit (stopped reading)`));
        else chunks.push(chunk);
      });
      response.on("error", (error) => finish(new FetchError("network", `response broke off: ${error.message}`)));
      response.on("aborted", () => finish(new FetchError("network", "the server closed the connection mid-body")));
      response.on("end", () => {
        if (settled) return;
        try {
          const body = decompress(Buffer.concat(chunks), response.headers["content-encoding"], limits.maxBytes);
          finish(undefined, { status, headers: response.headers, body });
        } catch (error) {
          finish(error as FetchError);
        }
      });
    });
    request.end();
  });
}
