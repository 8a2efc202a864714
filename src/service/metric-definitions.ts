import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/**
 * Metrics defined by name, help and label names, each registered in `registry` (a service
 * instance's own: tests run several in one process). A metric is rendered in the order it was
 * defined.
 */
export function definingIn(registry: Registry) {
  return {
    counter: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Counter<L>({ name, help, labelNames, registers: [registry] }),
    gauge: <L extends string = string>(name: string, help: string, labelNames: readonly L[] = []) => new Gauge<L>({ name, help, labelNames, registers: [registry] }),
    histogram: <L extends string>(name: string, help: string, labelNames: readonly L[], buckets: number[]) => new Histogram<L>({ name, help, labelNames, buckets, registers: [registry] }),
  };
}
