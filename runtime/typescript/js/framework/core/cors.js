// The platform's CORS helpers (core/cors): an app's src/_app/cors.ts exports `cors`, applied
// around every service's fetch (preflight answered without the handler).
export const matchOrigin = (request, env, config) => {
  const origin = request.headers.get('origin');
  if (typeof config.origin === 'function') return config.origin(request, env);
  if (config.origin === '*') return '*';
  const allowed = Array.isArray(config.origin) ? config.origin : [config.origin];
  return origin && allowed.includes(origin) ? origin : null;
};

function corsHeaders(request, env, config, headers) {
  const origin = matchOrigin(request, env, config);
  if (!origin) return false;
  headers.set('Access-Control-Allow-Origin', origin);
  if (origin !== '*') headers.append('Vary', 'Origin');
  if (config.credentials) headers.set('Access-Control-Allow-Credentials', 'true');
  if (config.exposeHeaders && config.exposeHeaders.length) headers.set('Access-Control-Expose-Headers', config.exposeHeaders.join(', '));
  return true;
}

export const addCorsHeaders = (response, request, env, config) => {
  const headers = new Headers(response.headers);
  if (!corsHeaders(request, env, config, headers)) return response;
  return new Response(response.body, { status: response.status, statusText: response.statusText, headers });
};

export const handlePreflight = (request, env, config) => {
  const headers = new Headers();
  if (!corsHeaders(request, env, config, headers)) return new Response(null, { status: 204 });
  headers.set('Access-Control-Allow-Methods', (config.allowMethods || ['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']).join(', '));
  const asked = request.headers.get('access-control-request-headers');
  const allowHeaders = config.allowHeaders ? config.allowHeaders.join(', ') : asked;
  if (allowHeaders) headers.set('Access-Control-Allow-Headers', allowHeaders);
  headers.set('Access-Control-Max-Age', String(config.maxAge ?? 86400));
  return new Response(null, { status: 204, headers });
};

export const createCorsHandler = (config) => (request, env, response) =>
  response ? addCorsHeaders(response, request, env, config) : handlePreflight(request, env, config);

export const corsAllowAll = createCorsHandler({ origin: '*' });

export const corsDisabled = (request, env, response) => response || new Response(null, { status: 204 });
