namespace oura::core { void placeholder() {} }
