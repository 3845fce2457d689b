/**
 * Queries against Prometheus's HTTP API, for checks and reports that need history this
 * process does not keep. Errors come back as thrown errors with Prometheus's own message.
 */
export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

/** One call of the HTTP API: its `data`, or a thrown error with Prometheus's message. */
async function promApi<T>(baseUrl: string, path: string, params: Record<string, string>, timeoutMs: number): Promise<T> {
  const url = new URL(path, baseUrl);
  for (const [name, value] of Object.entries(params)) url.searchParams.set(name, value);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = (await response.json().catch(() => ({}))) as { status?: string; error?: string; data?: T };
  if (!response.ok || body.status !== 'success' || body.data === undefined) {
    throw new Error(`Prometheus: ${body.error ?? `HTTP ${response.status}`}`);
  }
  return body.data;
}

const seconds = (at: Date) => (at.getTime() / 1000).toFixed(3);

/** An instant query (/api/v1/query): one value per series at `at`. */
export async function promQuery(baseUrl: string, expr: string, at: Date, timeoutMs = 5_000): Promise<PromSample[]> {
  const data = await promApi<{
    resultType?: string;
    result?: Array<{ metric: Record<string, string>; value: [number, string] }>;
  }>(baseUrl, '/api/v1/query', { query: expr, time: seconds(at) }, timeoutMs);
  if (data.resultType !== 'vector') throw new Error(`Prometheus: expected a vector, got ${data.resultType}`);
  return (data.result ?? [])
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
  const data = await promApi<{ result?: Array<{ metric: Record<string, string>; values: Array<[number, string]> }> }>(
    baseUrl,
    '/api/v1/query_range',
    { query: expr, start: seconds(range.start), end: seconds(range.end), step: String(range.stepSeconds) },
    timeoutMs,
  );
  return (data.result ?? []).map((series) => ({
    metric: series.metric,
    points: series.values
      .map(([at, value]): [Date, number] => [new Date(at * 1000), Number(value)])
      .filter(([, value]) => Number.isFinite(value)),
  }));
}
