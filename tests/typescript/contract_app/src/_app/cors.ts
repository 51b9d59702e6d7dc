import { createCorsHandler } from '@liquidmetal-ai/raindrop-framework/core/cors';

export const cors = createCorsHandler({ origin: ['https://allowed.example'], credentials: true });
