export {
  createPolygonClient,
  fetchAggregates,
  fetchGroupedDaily,
  type PolygonClient,
  type PolygonHttpParams,
  resolveApiKey,
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
export { abortError, failureMessage, ingestAll, resolveRange, settleAll } from "./range.js";
