export {
  createPolygonClient,
  fetchActions,
  fetchAggregates,
  fetchGroupedDaily,
  type PolygonClient,
  type PolygonHttpParams,
  resolveApiKey,
} from "./client.js";
export {
  type AggregatesPage,
  mergeSameDay,
  newYorkDate,
  type Page,
  POLYGON_TIMEZONE,
  PolygonBodyError,
  parseAggregates,
  parseDividends,
  parseGroupedDaily,
  parseSplits,
} from "./parse.js";
