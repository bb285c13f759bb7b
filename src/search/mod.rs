//! Which thread counts a sweep measures next: the grid (every count of the preset, in order)
//! or an adaptive search (double while throughput rises beyond the noise, then search between
//! the last rising count and the first that did not, then validate). A search is a small state
//! machine fed measured points; it never measures or sleeps itself (Envoy Nighthawk's
//! `step_controller_impl.h` is the model), so its tests drive it with synthetic curves.
