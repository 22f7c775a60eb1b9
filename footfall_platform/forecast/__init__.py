"""Forecasting: daily footfall and sales per store, staffing by hour, purchase propensity.

The engine knows nothing of Dagster. `frame.prepare_panel` validates a long frame (series_id,
date, y, known-in-advance flags); `pipeline.forecast_panel` backtests the seasonal-naive
baseline, Prophet, a global LightGBM and their ensemble, picks a champion per series and
forecasts with 80 % and 95 % intervals; `staffing` spreads the daily forecast over the hours;
`propensity` scores members' chance to buy in the next 30 days. docs/forecast.md explains it.
"""
