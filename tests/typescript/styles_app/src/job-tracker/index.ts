import { Actor, ActorState } from '@liquidmetal-ai/raindrop-framework';

interface Job { id: string; user: string; status: string; steps: number }

export class JobTracker extends Actor<any> {
  constructor(state: ActorState, env: any) {
    super(state, env);
  }

  async fetch(request: Request): Promise<Response> {
    const job = (await request.json()) as Job;
    await this.state.storage.put(`job:${job.id}`, { ...job, status: 'queued', steps: 0 });
    this.state.waitUntil(this.work(job.id));  // answers at once; the work goes on
    return Response.json({ accepted: job.id }, { status: 202 });
  }

  private async work(id: string): Promise<void> {
    for (let step = 1; step <= 3; step++) {
      const job = (await this.state.storage.get(`job:${id}`)) as Job;
      await this.state.storage.put(`job:${id}`, { ...job, status: step === 3 ? 'done' : 'running', steps: step });
    }
  }

  async status(id: string): Promise<Job | null> {
    return ((await this.state.storage.get(`job:${id}`)) as Job) ?? null;
  }
}
