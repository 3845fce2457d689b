/**
 * Instant queries against Prometheus's HTTP API (/api/v1/query), for checks and reports
 * that need history this process does not keep. Errors come back as thrown errors with
 * Prometheus's own message.
 */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

export async function promQuery(baseUrl: string, expr: string, at: Date, timeoutMs = 5_000): Promise<PromSample[]> {
  const url = new URL('/api/v1/query', baseUrl);
  url.searchParams.set('query', expr);
  url.searchParams.set('time', (at.getTime() / 1000).toFixed(3));
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json().catch(() => ({}))) as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: Array<{ metric: Record<string, string>; value: [number, string] }> };
  };
  if (!response.ok || body.status !== 'success') throw new Error(`Prometheus: ${body.error ?? `HTTP ${response.status}`}`);
  if (body.data?.resultType !== 'vector') throw new Error(`Prometheus: expected a vector, got ${body.data?.resultType}`);
  return (body.data.result ?? [])
    .map((sample) => ({ metric: sample.metric, value: Number(sample.value[1]) }))
    .filter((sample) => Number.isFinite(sample.value));
}
