// Stub for audio processor - not used in minimal build
export default class {
  async process() {
    console.log('Audio processor stub called');
  }
}