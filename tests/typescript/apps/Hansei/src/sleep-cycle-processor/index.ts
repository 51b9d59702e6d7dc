// Not from the repository: its commit declares this observer but has no handler for it. A
// stand-in so the app loads; it acknowledges each message.
import { Each, Message } from '@liquidmetal-ai/raindrop-framework';

export default class extends Each<unknown, Record<string, unknown>> {
  async process(message: Message<unknown>): Promise<void> {
    message.ack();
  }
}
