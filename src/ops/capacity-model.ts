/**
 * The capacity model (docs/scaling.md): what one SmarTalk instance and one PostgreSQL
 * carry, from CPU costs measured by the benchmarks on the reference machine, and the
 * step each limit calls for. `capacity.next_day` plans with it; ALERTS_CONFIG
 * `capacity` replaces the defaults with your own measurements.
 */

/**
 * CPU microseconds per unit of work on the reference machine (2 × Xeon vCPU, PostgreSQL
 * 15 on the same host): the higher end of `npm run bench -- scale` runs (2026-12-02;
 * the machine's speed moved them 42–61 µs for the same request), so plans err high.
 */
export const MEASURED_COST_US = {
  /** A cached content view (GET dramas of a theme), SmarTalk's process. */
  contentRequest: 61,
  /** The same through nginx: nginx's worker. */
  nginxPerRequest: 35,
  /** One analytics event ingested (batches of 50), SmarTalk's process. */
  eventServer: 36,
  /** The same event, PostgreSQL's processes. */
  eventPostgres: 34,
} as const;

/** Plan to use at most this share of a core: the rest absorbs bursts, GC and the machine's neighbours. */
export const PLANNING_UTILISATION = 0.6;

/** What one core does at the planning utilisation, for a cost in µs, rounded down to the thousand. */
const perCore = (costUs: number) => Math.floor((PLANNING_UTILISATION * 1e6) / costUs / 1000) * 1000;

/** Defaults: one instance is one Node.js process (one core of JavaScript); PostgreSQL per core it is given. */
export const DEFAULT_CAPACITY = {
  /**
   * Events/s one instance ingests while it also serves the API: under a third of what
   * a core at the planning utilisation ingests (perCore(eventServer) = 16,000).
   */
  eventsPerSecond: 5_000,
  /** Events/s one PostgreSQL core folds in (perCore(eventPostgres) = 17,000). */
  postgresEventsPerSecondPerCore: perCore(MEASURED_COST_US.eventPostgres),
} as const;

export interface Capacity {
  /** Events/s one instance takes (ALERTS_CONFIG capacity.eventsPerSecond). */
  eventsPerSecond: number;
  /** PostgreSQL cores given to SmarTalk (ALERTS_CONFIG capacity.postgresCores; 2 on the reference machine). */
  postgresCores: number;
}

export interface CapacityPlan {
  instances: number;
  /** Forecast over one instance's capacity. */
  instanceShare: number;
  /** Forecast over what PostgreSQL's cores fold in. */
  postgresShare: number;
  postgresEventsPerSecond: number;
  /** What to do next, in order: nothing, add instances, relieve PostgreSQL, move events off it. */
  step: 'none' | 'add-instances' | 'replica-and-bigger-postgres' | 'column-store';
}

/** The reference machine's PostgreSQL shares its two cores with SmarTalk. */
export const REFERENCE_POSTGRES_CORES = 2;

/** Keep this share free at the forecast peak. */
export const HEADROOM_TARGET = 0.3;

/**
 * The plan for a forecast peak: instances to keep 30% free, and PostgreSQL's share. Past
 * 70% of PostgreSQL, reports go to a replica and the primary gets cores; past what 16
 * cores fold in (16 × 17,000 ≈ 270k events/s), events belong in a column store behind the same
 * ingest API (docs/scaling.md).
 */
export function capacityPlan(forecastEventsPerSecond: number, capacity: Capacity): CapacityPlan {
  const instances = Math.max(1, Math.ceil(forecastEventsPerSecond / (capacity.eventsPerSecond * (1 - HEADROOM_TARGET))));
  const postgresEventsPerSecond = capacity.postgresCores * DEFAULT_CAPACITY.postgresEventsPerSecondPerCore;
  const postgresShare = forecastEventsPerSecond / postgresEventsPerSecond;
  const step =
    forecastEventsPerSecond > 16 * DEFAULT_CAPACITY.postgresEventsPerSecondPerCore
      ? 'column-store'
      : postgresShare > 1 - HEADROOM_TARGET
        ? 'replica-and-bigger-postgres'
        : instances > 1
          ? 'add-instances'
          : 'none';
  return {
    instances,
    instanceShare: forecastEventsPerSecond / capacity.eventsPerSecond,
    postgresShare,
    postgresEventsPerSecond,
    step,
  };
}
