// As mindful-steps' src/_app/cors.ts: headers under another name, no `export const cors`.
export const corsAllowAll = {
  'Access-Control-Allow-Origin': '*',
  'Access-Control-Allow-Methods': 'GET, POST, PUT, DELETE, OPTIONS',
};
