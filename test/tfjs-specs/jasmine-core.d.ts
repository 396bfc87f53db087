// The two jasmine-core files the spec harness boots jasmine from (the package has no types).
declare module "jasmine-core/lib/jasmine-core/jasmine.js" {
  const jasmineRequire: object;
  export default jasmineRequire;
}

declare module "jasmine-core/lib/jasmine-core/node_boot.js" {
  interface Jasmine {
    DEFAULT_TIMEOUT_INTERVAL: number;
    getEnv(): { addReporter(reporter: object): void; execute(): void };
  }
  /** Creates jasmine, puts describe/it/expect/... on the global object and returns jasmine. */
  export default function boot(jasmineRequire: object): Jasmine;
}
