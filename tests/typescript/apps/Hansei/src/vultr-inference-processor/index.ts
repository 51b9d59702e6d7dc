// Not from the repository: its commit declares this service but has no handler for it. A
// stand-in so the app loads; it answers 501.
import { Service } from '@liquidmetal-ai/raindrop-framework';

export default class extends Service<Record<string, unknown>> {
  async fetch(): Promise<Response> {
    return new Response('vultr-inference-processor has no handler in the repository', { status: 501 });
  }
}
