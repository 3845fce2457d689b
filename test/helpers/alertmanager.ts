/** Alertmanager's webhook body (version 4) for one HighCpu alert, as the intake tests send it. */
import { randomUUID } from 'node:crypto';

export function alertmanagerPayload(options: { status?: 'firing' | 'resolved'; alert?: Record<string, unknown> } = {}) {
  const status = options.status ?? 'firing';
  const now = new Date().toISOString();
  return {
    version: '4',
    groupKey: '{}:{alertname="HighCpu"}',
    status,
    receiver: 'smartalk',
    groupLabels: { alertname: 'HighCpu' },
    commonLabels: {},
    commonAnnotations: {},
    externalURL: 'http://alertmanager:9093',
    alerts: [
      {
        status,
        labels: { alertname: 'HighCpu', severity: 'warning' },
        annotations: { summary: 'CPU' },
        startsAt: now,
        // Alertmanager sends Go's zero time while an alert fires.
        endsAt: status === 'resolved' ? now : '0001-01-01T00:00:00Z',
        generatorURL: 'http://prometheus:9090/graph',
        fingerprint: randomUUID().replace(/-/g, '').slice(0, 16),
        ...options.alert,
      },
    ],
  };
}
