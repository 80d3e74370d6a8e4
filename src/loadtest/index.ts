/**
 * `rampart loadtest`: an open-model load generator of user journeys against a
 * Rampart server, with coordinated-omission corrected HDR percentiles per
 * endpoint, budgets, and JSON and HTML reports (docs/loadtest.md). An HTTP
 * client only: nothing here loads Fastify.
 */
export { AccountPool, LoadTestSetupError, type TestAccount } from "./accounts.js";
export { DEFAULT_ERROR_RATE_PCT, DEFAULT_P95_MS, ENDPOINT_ROUTES, ENDPOINTS, evaluateBudgets, SIZING_HINT, type BudgetCheck, type Budgets, type EndpointName } from "./budgets.js";
export { calibrate, ceilingWarning, NEAR_CEILING, type Calibration, type CalibrationStep } from "./calibrate.js";
export { ClientRequestError, HttpClient, type ClientResponse } from "./client.js";
export { JOURNEY_REQUESTS } from "./journeys.js";
export { LoadTestOptionError, parseBudgets, parseDuration, parsePercent, parsePositive, parseScenario, parseTargetUrl } from "./options.js";
export { Recorder, type EndpointStats, type Sample, type SecondStats } from "./recorder.js";
export { chartData, escapeHtml, renderHtmlReport, scriptJson } from "./report-html.js";
export { defaultTestData, requestsPerJourney, runLoadTest, type LiveTick, type LoadTestEvent, type LoadTestOptions, type LoadTestResult } from "./run.js";
export { JOURNEYS, MixPicker, SCENARIOS, scenarios, type JourneyName, type Scenario, type ScenarioName } from "./scenarios.js";
export { IN_FLIGHT_CAP, startOpenModel, type Arrival, type OpenModelCounts, type OpenModelOptions, type OpenModelRun } from "./scheduler.js";
export { arrivalTimes, expectedArrivals, peakRate, phasesOf, type Phase, type Segment, type Shape } from "./shape.js";
export { formatCalibration, formatResult, liveLine } from "./summary.js";
export { assertLoadtestPackages } from "./packages.js";
