import { Counter, Gauge, type Registry } from 'prom-client';

/** The alert series, registered in the worker's own registry so /metrics serves them with the rest. */
export class AlertMetrics {
  readonly alertsRaised: Counter<'rule' | 'level'>;
  readonly alertsPublished: Counter;
  readonly publishFailures: Counter;
  readonly alertsUnpublished: Gauge;

  constructor(registry: Registry) {
    const registers = [registry];
    this.alertsRaised = new Counter({
      name: 'centralog_consumer_alerts_raised_total',
      help: 'Alert documents created (a replayed event raises none), by rule id and level',
      labelNames: ['rule', 'level'],
      registers,
    });
    this.alertsPublished = new Counter({ name: 'centralog_consumer_alerts_published_total', help: 'Alerts published to SNS', registers });
    this.publishFailures = new Counter({
      name: 'centralog_consumer_alert_publish_failures_total',
      help: 'SNS publish attempts that failed (each retry counts); alerts still unpublished after the retries wait for the sweep',
      registers,
    });
    this.alertsUnpublished = new Gauge({
      name: 'centralog_consumer_alerts_unpublished',
      help: 'Alerts in the index not yet published to SNS (the backlog), as the last sweep counted them',
      registers,
    });
  }
}
