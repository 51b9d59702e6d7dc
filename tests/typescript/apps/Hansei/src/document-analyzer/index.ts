// Stub for document analyzer - not used in minimal build
export default class {
  async process() {
    console.log('Document analyzer stub called');
  }
}