import { Actor, ActorState } from '@liquidmetal-ai/raindrop-framework';

export class Counter extends Actor<any> {
  constructor(state: ActorState, env: any) {
    super(state, env);
  }

  async increment(by: number): Promise<number> {
    const value = ((await this.state.storage.get('value')) ?? 0) + by;
    await this.state.storage.put('value', value);
    return value;
  }

  async arm(seconds: number): Promise<void> {
    await this.state.storage.setAlarm(Date.now() + seconds * 1000);
  }

  async alarm(): Promise<void> {
    await this.env.CACHE.put('alarm-fired', String(Date.now()));
  }
}

export default Counter;
