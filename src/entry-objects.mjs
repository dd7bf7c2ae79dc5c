// The Durable Object class (feature `objects`): the wasm's ConversationObject, made again
// when a panic replaced the wasm instance (wasm-bindgen refuses an object of the old one), so
// the pair's object keeps answering. scripts/build.sh exports it when the wasm has it.
import { ConversationObject as Wasm } from "./glue.js";
import { withFlows } from "./entry-flows.mjs";

export class ConversationObject {
  #args;
  #inner;

  constructor(state, env) {
    this.#args = [state, withFlows(env)];
    this.#inner = new Wasm(...this.#args);
  }

  #call(method, args) {
    try {
      return this.#inner[method](...args);
    } catch (e) {
      if (!/stale object/.test(e?.message ?? "")) throw e;
      this.#inner = new Wasm(...this.#args);
      return this.#inner[method](...args);
    }
  }

  fetch(request) {
    return this.#call("fetch", [request]);
  }

  alarm() {
    return this.#call("alarm", []);
  }
}
