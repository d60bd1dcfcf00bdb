export * from "./xnys.js";
