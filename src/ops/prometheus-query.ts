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

/** A range query (/api/v1/query_range): each series' points, `step` seconds apart. */
export async function promRange(
  baseUrl: string,
  expr: string,
  range: { start: Date; end: Date; stepSeconds: number },
  timeoutMs = 10_000,
): Promise<Array<{ metric: Record<string, string>; points: Array<[at: Date, value: number]> }>> {
  const url = new URL('/api/v1/query_range', baseUrl);
  url.searchParams.set('query', expr);
  url.searchParams.set('start', (range.start.getTime() / 1000).toFixed(3));
  url.searchParams.set('end', (range.end.getTime() / 1000).toFixed(3));
  url.searchParams.set('step', String(range.stepSeconds));
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json().catch(() => ({}))) as {
    status?: string;
    error?: string;
    data?: { resultType?: string; result?: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> };
  };
  if (!response.ok || body.status !== 'success') throw new Error(`Prometheus: ${body.error ?? `HTTP ${response.status}`}`);
  return (body.data?.result ?? []).map((series) => ({
    metric: series.metric,
    points: series.values
      .map(([at, value]): [Date, number] => [new Date(at * 1000), Number(value)])
      .filter(([, value]) => Number.isFinite(value)),
  }));
}
