import { Actor, ActorState } from '@liquidmetal-ai/raindrop-framework';
import { Env } from './raindrop.gen.js';

interface AudioState {
  lastProcessed?: string;
  count?: number;
}

export class VoiceProcessor extends Actor<Env> {
  constructor(state: ActorState, env: Env) {
    super(state, env);
  }

  async initialize(): Promise<void> {
    const existing = await this.state.storage.get<AudioState>('state');
    if (!existing) {
      await this.state.storage.put('state', { lastProcessed: '', count: 0 });
    }
  }

  async processAudio(audioData: string): Promise<{ success: boolean; text?: string; error?: string }> {
    try {
      this.env.logger.info('Processing audio');
      return { success: true, text: '' };
    } catch (error) {
      const err = error instanceof Error ? error.message : 'Unknown error';
      return { success: false, error: err };
    }
  }

  async synthesizeSpeech(text: string): Promise<{ success: boolean; audio?: string; error?: string }> {
    try {
      this.env.logger.info(`Synthesizing: ${text}`);
      return { success: true, audio: '' };
    } catch (error) {
      const err = error instanceof Error ? error.message : 'Unknown error';
      return { success: false, error: err };
    }
  }
}

export default VoiceProcessor;
