"""pydantic input models and the shared validators (money, email, phone, safe text)."""
