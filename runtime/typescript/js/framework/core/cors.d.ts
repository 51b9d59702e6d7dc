// Types of the platform's CORS helpers (core/cors).
export interface CorsConfig {
  origin: '*' | string | string[] | ((request: Request, env: any) => string | null);
  credentials?: boolean;
  allowMethods?: string[];
  allowHeaders?: string[];
  exposeHeaders?: string[];
  maxAge?: number;
}
export type CorsHandler = (request: Request, env: any, response?: Response) => Response;
export declare function matchOrigin(request: Request, env: any, config: CorsConfig): string | null;
export declare function addCorsHeaders(response: Response, request: Request, env: any, config: CorsConfig): Response;
export declare function handlePreflight(request: Request, env: any, config: CorsConfig): Response;
export declare function createCorsHandler(config: CorsConfig): CorsHandler;
export declare const corsAllowAll: CorsHandler;
export declare const corsDisabled: CorsHandler;
