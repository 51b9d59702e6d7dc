import { Task } from '@liquidmetal-ai/raindrop-framework';

export default class extends Task<any> {
  async handle(event: { cron: string; scheduledTime: number; type: string }): Promise<void> {
    await this.env.CACHE.put('nightly', JSON.stringify({ cron: event.cron, scheduledTime: event.scheduledTime, type: event.type, now: Date.now() }));
  }
}
