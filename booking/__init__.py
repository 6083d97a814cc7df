"""The booking domain: venues, rooms, sessions, residents and bookings, and the rules that govern them."""
