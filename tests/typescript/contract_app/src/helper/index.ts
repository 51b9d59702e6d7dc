import { Service } from '@liquidmetal-ai/raindrop-framework';

export default class Helper extends Service<any> {
  // The platform's wrapper also passes (env, ctx) to a class's fetch; some apps read env there.
  async fetch(request: Request, env: any): Promise<Response> {
    const url = new URL(request.url);
    return new Response(`${env.GREETING} ${request.method} ${url.pathname}?${url.searchParams.get('x')} ${await request.text()}`);
  }

  async add(a: number, b: number): Promise<number> {
    return a + b;
  }

  async greet(who: { name: string }): Promise<string> {
    return `${this.env.GREETING}, ${who.name}`;
  }
}
