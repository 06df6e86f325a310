"""crosspost: the shared package every Lambda function imports (packaged as a layer)."""
