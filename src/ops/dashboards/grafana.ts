/**
 * `smartalk grafana export`: the dashboards of panels.ts as Grafana JSON, built with
 * Grafana's own dashboards-as-code SDK (so the JSON follows its schema and is never edited
 * by hand), and the provisioning files that load them with a Prometheus datasource.
 */

import { PanelBuilder as BarGaugePanel } from '@grafana/grafana-foundation-sdk/bargauge';
import {
  BarGaugeDisplayMode,
  GraphThresholdsStyleConfigBuilder,
  GraphThresholdsStyleMode,
  LegendDisplayMode,
  LegendPlacement,
  ReduceDataOptionsBuilder,
  VizLegendOptionsBuilder,
} from '@grafana/grafana-foundation-sdk/common';
import {
  type Dashboard,
  DashboardBuilder,
  DatasourceVariableBuilder,
  ThresholdsConfigBuilder,
  ThresholdsMode,
} from '@grafana/grafana-foundation-sdk/dashboard';
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus';
import { PanelBuilder as StatPanel } from '@grafana/grafana-foundation-sdk/stat';
import { PanelBuilder as TimeseriesPanel } from '@grafana/grafana-foundation-sdk/timeseries';
import type { Lang } from '../../config.js';
import { say } from '../../i18n.js';
import { DASHBOARDS, type DashboardDefinition, type PanelDefinition } from './panels.js';

/** Every panel reads the datasource the `datasource` variable picks (provisioned as "Prometheus"). */
// Grafana's variable syntax, not a template literal.
// biome-ignore lint/suspicious/noTemplateCurlyInString: Grafana interpolates ${datasource} itself
const DATASOURCE = { type: 'prometheus', uid: '${datasource}' };
const REFS = 'ABCDEFGH';

function thresholds(panel: PanelDefinition): ThresholdsConfigBuilder {
  const ok = { value: null as unknown as number, color: 'green' };
  const steps = !panel.threshold
    ? [ok]
    : panel.threshold.above
      ? [ok, { value: panel.threshold.value, color: 'red' }]
      : [
          { value: null as unknown as number, color: 'red' },
          { value: panel.threshold.value, color: 'green' },
        ];
  return new ThresholdsConfigBuilder().mode(ThresholdsMode.Absolute).steps(steps);
}

function panelOf(panel: PanelDefinition, lang: Lang) {
  const targets = panel.queries.map((query, i) =>
    new DataqueryBuilder()
      .expr(query.expr)
      .legendFormat(query.legend)
      .refId(REFS[i] as string)
      .datasource(DATASOURCE),
  );
  const common = <T extends TimeseriesPanel | StatPanel | BarGaugePanel>(builder: T): T => {
    builder
      .title(say(lang, panel.title))
      .description(say(lang, panel.description))
      .datasource(DATASOURCE)
      .targets(targets)
      .unit(panel.unit)
      .thresholds(thresholds(panel))
      .height(8)
      .span(panel.width ?? 12);
    if (panel.min !== undefined) builder.min(panel.min);
    if (panel.max !== undefined) builder.max(panel.max);
    return builder;
  };
  if (panel.kind === 'stat') {
    return common(new StatPanel()).reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']));
  }
  if (panel.kind === 'bargauge') {
    return common(new BarGaugePanel())
      .displayMode(BarGaugeDisplayMode.Gradient)
      .reduceOptions(new ReduceDataOptionsBuilder().calcs(['lastNotNull']));
  }
  const series = common(new TimeseriesPanel())
    .fillOpacity(10)
    .lineWidth(2)
    .legend(new VizLegendOptionsBuilder().showLegend(true).displayMode(LegendDisplayMode.List).placement(LegendPlacement.Bottom));
  // The alert's threshold as a dashed line across the graph.
  if (panel.threshold) series.thresholdsStyle(new GraphThresholdsStyleConfigBuilder().mode(GraphThresholdsStyleMode.Dashed));
  return series;
}

export function grafanaDashboard(definition: DashboardDefinition, lang: Lang): Dashboard {
  const builder = new DashboardBuilder(say(lang, definition.title))
    .uid(lang === 'zh-CN' ? `${definition.uid}-zh` : definition.uid)
    .tags(definition.tags)
    .refresh('30s')
    .time({ from: 'now-6h', to: 'now' })
    .timezone('browser')
    .withVariable(new DatasourceVariableBuilder('datasource').label('Prometheus').type('prometheus'));
  for (const panel of definition.panels) builder.withPanel(panelOf(panel, lang));
  return builder.build();
}

/** Every file `smartalk grafana export` writes, by path under its output directory. */
export function grafanaFiles(): Record<string, string> {
  const files: Record<string, string> = {
    'provisioning/datasources/smartalk.yml': [
      '# Grafana provisioning: the Prometheus that scrapes SmarTalk (deploy/prometheus/prometheus.yml).',
      'apiVersion: 1',
      'datasources:',
      '  - name: Prometheus',
      '    type: prometheus',
      '    access: proxy',
      '    url: http://127.0.0.1:9090',
      '    isDefault: true',
      '',
    ].join('\n'),
    'provisioning/dashboards/smartalk.yml': [
      '# Grafana provisioning: load the dashboards `smartalk grafana export` writes.',
      'apiVersion: 1',
      'providers:',
      '  - name: SmarTalk',
      '    folder: SmarTalk',
      '    type: file',
      '    disableDeletion: true',
      '    options:',
      '      path: /etc/grafana/dashboards/smartalk',
      '',
    ].join('\n'),
  };
  for (const definition of DASHBOARDS) {
    for (const lang of ['en', 'zh-CN'] as const) {
      const name = `${definition.uid}${lang === 'zh-CN' ? '.zh-CN' : ''}.json`;
      files[`dashboards/${name}`] = `${JSON.stringify(grafanaDashboard(definition, lang), null, 2)}\n`;
    }
  }
  return files;
}
