export {
  createPolygonClient,
  fetchAggregates,
  fetchGroupedDaily,
  type PolygonClient,
  type PolygonHttpParams,
  resolveApiKey,
  scrubSecret,
} from "./client.js";
export {
  type AggregatesPage,
  newYorkDate,
  POLYGON_TIMEZONE,
  type PolygonBar,
  PolygonBodyError,
  parseAggregates,
  parseGroupedDaily,
} from "./parse.js";
export { abortError, failureMessage, resolveRange, settleAll } from "./range.js";
export { withConnectionLock, writeBars } from "./write.js";
